//! Little-endian messages between the coordinator of a job and its workers
//! (the IRT fit's blocks of models, an evaluation's folds). Each message
//! starts with a four-byte tag of its kind and version, so a message from
//! another build is refused by name rather than misread; a short or
//! over-long one is an error naming which message it was. Floats travel as
//! their bits (NaN included), so results are exact.

/// A message, written field by field.
pub(crate) struct Writer(Vec<u8>);

impl Writer {
    pub fn new(tag: &[u8; 4]) -> Writer {
        Writer(tag.to_vec())
    }
    /// Goes on writing after `bytes` (a message's shared start, tag included).
    pub fn from_bytes(bytes: Vec<u8>) -> Writer {
        Writer(bytes)
    }
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// A length and the UTF-8 bytes.
    pub fn str(&mut self, v: &str) {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v.as_bytes());
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Reads what [`Writer`] wrote, in the same order.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], tag: &[u8; 4], what: &'static str) -> Result<Reader<'a>, String> {
        if bytes.len() < tag.len() || &bytes[..tag.len()] != tag {
            return Err(format!("not a {what} message of this version of benchsift"));
        }
        Ok(Reader { bytes, at: tag.len(), what })
    }
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let end = self.at + N;
        let slice = self.bytes.get(self.at..end).ok_or_else(|| format!("{} message: cut short at byte {}", self.what, self.at))?;
        self.at = end;
        Ok(slice.try_into().expect("N bytes"))
    }
    /// Bytes not read yet (a bound on how many items a length may claim).
    pub fn left(&self) -> usize {
        self.bytes.len() - self.at
    }
    pub fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take::<1>()?[0])
    }
    pub fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    pub fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    pub fn f32(&mut self) -> Result<f32, String> {
        Ok(f32::from_le_bytes(self.take()?))
    }
    pub fn f64(&mut self) -> Result<f64, String> {
        Ok(f64::from_le_bytes(self.take()?))
    }
    pub fn words(&mut self, n: usize) -> Result<Vec<u64>, String> {
        (0..n).map(|_| self.u64()).collect()
    }
    pub fn str(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        let bytes = self.bytes.get(self.at..self.at.saturating_add(n)).ok_or_else(|| format!("{} message: cut short at byte {}", self.what, self.at))?;
        self.at += n;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{} message: text that is not UTF-8 at byte {}", self.what, self.at - n))
    }
    /// Checks that the whole message was read.
    pub fn end(&self) -> Result<(), String> {
        if self.at != self.bytes.len() {
            return Err(format!("{} message: {} bytes past its end", self.what, self.bytes.len() - self.at));
        }
        Ok(())
    }
}

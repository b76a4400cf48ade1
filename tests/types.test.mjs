// www/lib/types.d.ts against the Rust request types: each command's option
// interface must name exactly the keys the core accepts (its request's
// fields, the load options, and the option keys of the files it takes), so
// the declarations cannot drift from the code. And a key the core does not
// know reaches it and is refused by name.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import ts from 'typescript';

import { ROOT } from './helpers.mjs';
import * as api from '../www/lib/node.js';

/** Options only the JS side reads. */
const JS_ONLY = new Set(['name', 'onProgress', 'workers']);

/** The options interface of each command in types.d.ts. */
const INTERFACES = {
  info: 'InfoOptions',
  fit: 'FitOptions',
  select: 'SelectOptions',
  estimate: 'EstimateOptions',
  adapt: 'AdaptOptions',
  evaluate: 'EvaluateOptions',
  similar: 'SimilarOptions',
  filter: 'FilterOptions',
  selectTasks: 'SelectTasksOptions',
};

/** Every interface's own keys and the names it extends, and every type alias's target. */
function declarations() {
  const path = join(ROOT, 'www', 'lib', 'types.d.ts');
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  /** @type {Map<string, {keys: string[], extends: string[]}>} */
  const interfaces = new Map();
  /** @type {Map<string, string>} */
  const aliases = new Map();
  for (const node of source.statements) {
    if (ts.isInterfaceDeclaration(node)) {
      const keys = node.members.filter(ts.isPropertySignature).map((m) => m.name.getText(source));
      const parents = (node.heritageClauses ?? []).flatMap((h) => h.types.map((t) => t.expression.getText(source)));
      interfaces.set(node.name.text, { keys, extends: parents });
    } else if (ts.isTypeAliasDeclaration(node) && ts.isTypeReferenceNode(node.type)) {
      aliases.set(node.name.text, node.type.typeName.getText(source));
    }
  }
  /** @param {string} name @returns {Set<string>} */
  const keysOf = (name) => {
    const target = aliases.get(name) ?? name;
    const found = interfaces.get(target);
    if (!found) throw new Error(`types.d.ts declares no interface ${target}`);
    return new Set([...found.keys, ...found.extends.flatMap((p) => [...keysOf(p)])]);
  };
  return keysOf;
}

test('every option interface in types.d.ts names exactly the keys the Rust request takes', async () => {
  const schema = await api.schema();
  const keysOf = declarations();
  const keyOfRole = new Map(schema.roles.map((r) => [r.role, r.key]));
  for (const [command, name] of Object.entries(INTERFACES)) {
    const rust = schema.commands[/** @type {keyof typeof schema.commands} */ (command)];
    assert.ok(rust, `the schema has no command ${command}`);
    const expected = new Set([...rust.options, ...rust.files.filter((r) => r !== 'responses').map((r) => keyOfRole.get(r) ?? r)]);
    const declared = new Set([...keysOf(name)].filter((k) => !JS_ONLY.has(k)));
    const missing = [...expected].filter((k) => !declared.has(k));
    const extra = [...declared].filter((k) => !expected.has(k));
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${name} (the ${command} request)`);
  }
});

test('an unknown option reaches the core and is refused by name', async () => {
  const csv = 'model,q1,q2\nA,1,0\nB,0,1\nC,1,1\n';
  await assert.rejects(
    api.select(csv, /** @type {any} */ ({ budget: 1, budgett: 2 })),
    /^Error: options: unknown field `budgett`, expected one of `method`, `budget`/,
  );
  // A file option a command does not take is refused too, naming it.
  await assert.rejects(api.info(csv, /** @type {any} */ ({ embeddings: '0,1\n' })), /info takes no embeddings file \('embeddings\.npy'\)/);
});

// @ts-check
// Node's module hooks for the unit tests: a .ts module is loaded with its types stripped by
// TypeScript's own transpiler (transpileModule: one file, no type checking — `npm run typecheck`
// does that), so a test imports the app's source as it is, with no build step or output folder.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** @type {import('typescript').CompilerOptions} */
const options = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, jsx: ts.JsxEmit.ReactJSX, jsxImportSource: 'preact', sourceMap: false, inlineSourceMap: true };

/**
 * @param {string} url
 * @param {{format?: string | null}} context
 * @param {(url: string, context: object) => Promise<{format?: string | null, source?: unknown}>} nextLoad
 */
export async function load(url, context, nextLoad) {
  if (!/\.tsx?$/.test(new URL(url).pathname)) return nextLoad(url, context);
  const fileName = fileURLToPath(url);
  const { outputText } = ts.transpileModule(await readFile(fileName, 'utf8'), { fileName, compilerOptions: options });
  return { format: 'module', source: outputText, shortCircuit: true };
}

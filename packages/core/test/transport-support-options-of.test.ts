import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OptionsOf } from '@resilient-rpc/core/transport';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';

const Defaults = {
  /** Interface to bind. */
  host: '127.0.0.1',
  /** Most open connections. */
  maxConnections: 10_000,
} as const;

describe('OptionsOf', () => {
  it('makes each default an optional option of its widened type', () => {
    expectTypeOf<OptionsOf<typeof Defaults>>().toEqualTypeOf<{
      host?: string;
      maxConnections?: number;
    }>();
  });

  it("keeps each default's JSDoc on its option (what the editor and the .d.ts show)", () => {
    const options = fileURLToPath(new URL('../src/transport-support/options.ts', import.meta.url));
    const probe = join(dirname(options), 'probe.ts');
    const file = ts.createSourceFile(
      probe,
      `import type { OptionsOf } from './options.js';
      const Defaults = {
        /** Most open connections. */
        maxConnections: 10_000,
      } as const;
      interface Options extends Pick<OptionsOf<typeof Defaults>, 'maxConnections'> {}
      export declare const options: Options;`,
      ts.ScriptTarget.ES2022,
      true,
    );
    const host = ts.createCompilerHost({});
    const getSourceFile = host.getSourceFile.bind(host);
    const program = ts.createProgram(
      [probe],
      { module: ts.ModuleKind.NodeNext, target: ts.ScriptTarget.ES2022 },
      {
        ...host,
        getSourceFile: (name, ...rest) => (name === probe ? file : getSourceFile(name, ...rest)),
        fileExists: (name) => name === probe || host.fileExists(name),
      },
    );
    const checker = program.getTypeChecker();
    const statement = file.statements.at(-1) as ts.VariableStatement;
    const name = statement.declarationList.declarations[0]!.name;
    const property = checker.getTypeAtLocation(name).getProperty('maxConnections')!;
    expect(ts.displayPartsToString(property.getDocumentationComment(checker))).toBe('Most open connections.');
  });
});

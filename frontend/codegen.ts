import type { CodegenConfig } from '@graphql-codegen/cli';

// Types come from the SDL the server exports, so a server change that breaks
// an operation fails here (and so `typecheck` and `build`), not at run time.
const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['src/graphql/*.graphql'],
  generates: {
    'src/graphql/generated.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
        avoidOptionals: { field: true, inputValue: false },
        nonOptionalTypename: false,
        skipTypename: true,
      },
    },
  },
};

export default config;

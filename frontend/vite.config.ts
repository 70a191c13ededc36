import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// `npm run dev` serves the panel with hot reload; the API comes from a
// `tandem` running on its default address.
const api = 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/graphql': { target: api, ws: true },
      '/graphiql': api,
    },
  },
  build: {
    rolldownOptions: {
      output: {
        // Libraries change less often than the panel: their own hashed file
        // stays cached across panel releases.
        codeSplitting: { groups: [{ name: 'vendor', test: /node_modules/ }] },
      },
    },
    // The vendor chunk (React, Mantine, urql) is one cached download for an admin tool.
    chunkSizeWarningLimit: 800,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    css: false,
  },
});

// Vitest runs only the test that proves the testing kit works under Vitest too; the project's own tests
// use node:test (npm run test:unit).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['test/vitest/**/*.vitest.mjs'], environment: 'node' },
});

// The package is ESM-only. require('ebpf') lands here (the "require" condition of package.json's
// exports) and throws an error that says what to do, instead of Node's "No exports main defined".
'use strict';
const error = new Error(
  "ebpf is an ES module package and cannot be loaded with require(). " +
  "Use `import { ... } from 'ebpf'` in an ES module (a .mjs file, or \"type\": \"module\" in package.json), " +
  "or from CommonJS `const ebpf = await import('ebpf')` inside an async function.",
);
error.code = 'ERR_REQUIRE_ESM';
throw error;

// Removes dist/ before a build, so files of deleted modules are never packed.
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });

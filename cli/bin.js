#!/usr/bin/env node
// The `shopflow` executable: runs the TypeScript CLI through tsx, so there is no build step.
require('tsx/cjs');
require('./main.ts');

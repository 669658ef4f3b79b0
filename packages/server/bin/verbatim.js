#!/usr/bin/env node
// The CLI entry point: runs the compiled server (built by `npm ci` through the root `prepare` script).
import '../dist/main.js';

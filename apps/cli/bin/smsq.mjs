#!/usr/bin/env node
// The `smsq` bin: the CLI is TypeScript, so load it through tsx (as every start command does).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');

import { readFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.js';

/**
 * The text of a Redis script kept as `.lua` files beside the module that runs it (`import.meta.url`).
 * Scripts cannot include one another, so shared functions go in front: `luaScript(url, 'lib.lua', 'x.lua')`.
 */
export function luaScript(moduleUrl: string, ...files: string[]): string {
  return files.map((f) => readFileSync(new URL(`./${f}`, moduleUrl), 'utf8')).join('\n');
}

/**
 * Makes each script a command of the client (ioredis `defineCommand`): called by SHA (EVALSHA), sent in
 * full only once per connection when Redis does not have it yet. Defining one twice is a no-op, so every
 * class that uses a script can ask for it on the client it is given.
 */
export function defineLuaCommands(redis: RedisClient, scripts: Record<string, string>): void {
  for (const [name, lua] of Object.entries(scripts)) {
    if (name in redis) continue;
    redis.defineCommand(name, { lua });
    // ioredis (5.11) files an auto-pipelined script under the slot of its first argument, which is the
    // key count, not a key: scripts of different slots then share a pipeline, and a Cluster refuses it
    // ("All keys in the pipeline should belong to the same slots allocation group"). On a Cluster each
    // script call goes on its own; the callers' coalescers already batch what matters.
    if (redis instanceof Cluster) redis.options.autoPipeliningIgnoredCommands?.push(name);
  }
}

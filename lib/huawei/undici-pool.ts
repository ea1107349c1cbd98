/**
 * undici's Pool with the request API, as undici's own entry point assembles them (index.js: the API methods
 * are assigned onto Dispatcher.prototype), and nothing else. `import { Pool } from 'undici'` evaluates the whole package (fetch, WebSocket, the
 * cache and mock agents, ...): about 760 KB minified in every bundle and some 105 ms of CPU at each cold
 * start here, where these modules with what they need are about half of it. The deep paths are undici's
 * own CommonJS modules (the package has no `exports` map that would forbid them); the type is the package's.
 */
import type { Pool as UndiciPool } from 'undici';
import api from 'undici/lib/api/index.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import PoolModule from 'undici/lib/dispatcher/pool.js';

Object.assign((Dispatcher as { prototype: object }).prototype, api);

export const Pool = PoolModule as unknown as typeof UndiciPool;
export type Pool = UndiciPool;

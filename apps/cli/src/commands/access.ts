import { ApiClient, type ApiOptions } from '../api-client.js';
import { Failure } from '../failure.js';
import { EXIT, columns, type Io, type Output } from '../io.js';

interface Service {
  id: string;
  name: string;
  dailySegmentLimit: number | null;
  from: string | null;
  messagingServiceSid: string | null;
}
interface Key {
  id: string;
  type: string;
  scopes: string[];
  description: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface CreateServiceOptions extends ApiOptions {
  dailySegmentLimit?: number;
  from?: string;
  messagingServiceSid?: string;
}

export interface CreateKeyOptions extends ApiOptions {
  type: 'live' | 'test';
  scope: string[];
  expiresAt?: string;
  description?: string;
}

/** A service named by its name or id. */
async function findService(api: ApiClient, nameOrId: string): Promise<Service> {
  const { items } = await api.get<{ items: Service[] }>('/v1/admin/services');
  const found = items.find((s) => s.name === nameOrId || s.id === nameOrId);
  if (!found) throw new Failure(`no service "${nameOrId}"`, EXIT.failed);
  return found;
}

export async function createService(io: Io, out: Output, name: string, opts: CreateServiceOptions): Promise<number> {
  const api = ApiClient.from(opts, io.env);
  const service = await api.post<Service>('/v1/admin/services', {
    name,
    ...(opts.dailySegmentLimit === undefined ? {} : { dailySegmentLimit: opts.dailySegmentLimit }),
    ...(opts.from === undefined ? {} : { from: opts.from }),
    ...(opts.messagingServiceSid === undefined ? {} : { messagingServiceSid: opts.messagingServiceSid }),
  });
  out.line(`Created service ${service.name} (${service.id}).`);
  out.result({ ok: true, service });
  return EXIT.ok;
}

export async function listServices(io: Io, out: Output, opts: ApiOptions): Promise<number> {
  const { items } = await ApiClient.from(opts, io.env).get<{ items: Service[] }>('/v1/admin/services');
  const rows = items.map((s) => [
    s.name,
    s.id,
    s.dailySegmentLimit === null ? '-' : String(s.dailySegmentLimit),
    s.messagingServiceSid ?? s.from ?? '-',
  ]);
  for (const line of columns([['NAME', 'ID', 'DAILY SEGMENTS', 'SENDER'], ...rows])) out.line(line);
  out.result({ ok: true, services: items });
  return EXIT.ok;
}

/** Prints the new key once: it is stored only as a hash and cannot be shown again. */
export async function createKey(io: Io, out: Output, service: string, opts: CreateKeyOptions): Promise<number> {
  const api = ApiClient.from(opts, io.env);
  const { id } = await findService(api, service);
  const key = await api.post<Key & { key: string }>(`/v1/admin/services/${id}/keys`, {
    type: opts.type,
    scopes: opts.scope,
    ...(opts.expiresAt === undefined ? {} : { expiresAt: opts.expiresAt }),
    ...(opts.description === undefined ? {} : { description: opts.description }),
  });
  out.line(`Created ${key.type} key ${key.id} (${key.scopes.join(', ')}). Keep it now; it is not shown again:`);
  out.line(key.key);
  out.result({ ok: true, key });
  return EXIT.ok;
}

export async function listKeys(io: Io, out: Output, service: string, opts: ApiOptions): Promise<number> {
  const api = ApiClient.from(opts, io.env);
  const { id } = await findService(api, service);
  const { items } = await api.get<{ items: Key[] }>(`/v1/admin/services/${id}/keys`);
  const state = (k: Key) =>
    k.revokedAt ? 'revoked' : k.expiresAt && k.expiresAt <= new Date().toISOString() ? 'expired' : 'active';
  const rows = items.map((k) => [k.id, k.type, state(k), k.scopes.join(','), k.lastUsedAt ?? '-', k.description ?? '']);
  for (const line of columns([['ID', 'TYPE', 'STATE', 'SCOPES', 'LAST USED', 'DESCRIPTION'], ...rows])) out.line(line);
  out.result({ ok: true, keys: items });
  return EXIT.ok;
}

export async function revokeKey(io: Io, out: Output, keyId: string, opts: ApiOptions): Promise<number> {
  const key = await ApiClient.from(opts, io.env).delete<Key>(`/v1/admin/keys/${keyId}`);
  out.line(`Revoked key ${key.id}; every API process refuses it within a few seconds.`);
  out.result({ ok: true, key });
  return EXIT.ok;
}

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Whether a webhook may be sent to this address: only public unicast ones, so that a caller cannot make
 * smsq reach loopback, private networks, link-local (cloud metadata at 169.254.169.254) or anything
 * reserved. IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed.range() === 'unicast';
}

/** Why a webhook URL is refused, or undefined when it may be used. */
export type WebhookUrlProblem = { code: 'invalid_url' | 'url_not_allowed'; message: string };

/**
 * A webhook URL as an endpoint is registered: absolute, https (unless private targets are allowed), no
 * credentials, and a host whose addresses are all public now. The worker checks the address again on
 * every connection (a name can be pointed elsewhere later).
 */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<WebhookUrlProblem | undefined> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { code: 'invalid_url', message: 'url must be an absolute URL' };
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    return { code: 'invalid_url', message: 'url must use https' };
  }
  if (url.username || url.password) return { code: 'invalid_url', message: 'url must not carry credentials' };
  if (allowPrivate) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    try {
      addresses = (await lookup(host, { all: true })).map((a) => a.address);
    } catch {
      return { code: 'invalid_url', message: `the host ${host} does not resolve` };
    }
  }
  if (addresses.every(isPublicAddress)) return undefined;
  return {
    code: 'url_not_allowed',
    message: 'url resolves to a private, loopback, link-local or reserved address',
  };
}

import { EXIT, columns, type Io, type Output } from '../io.js';
import { loadSettings } from '../settings.js';
import { askTwilio, twilioClient } from '../twilio.js';

export async function accountInfo(io: Io, out: Output): Promise<number> {
  const config = loadSettings(io.env);
  const client = twilioClient(config);
  const [account, balance] = await askTwilio(config, () =>
    Promise.all([client.api.v2010.account.fetch(), client.api.v2010.account.balance.fetch()]),
  );
  const info = {
    sid: account.sid,
    friendlyName: account.friendlyName,
    status: account.status,
    type: account.type,
    balance: balance.balance,
    currency: balance.currency,
  };
  for (const row of columns([
    ['Account', info.sid],
    ['Name', info.friendlyName],
    ['Status', info.status],
    ['Type', info.type],
    ['Balance', `${info.balance} ${info.currency}`],
  ])) {
    out.line(row);
  }
  out.result({ ok: true, account: info });
  return EXIT.ok;
}

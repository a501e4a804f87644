import { EXIT, columns, type Io, type Output } from '../io.js';
import { loadSettings } from '../settings.js';
import { askTwilio, twilioClient } from '../twilio.js';

export async function phoneNumbers(io: Io, out: Output): Promise<number> {
  const config = loadSettings(io.env);
  const client = twilioClient(config);
  const listed = await askTwilio(config, () => client.incomingPhoneNumbers.list({ limit: 1000 }));
  const numbers = listed.map((n) => ({
    phoneNumber: n.phoneNumber,
    friendlyName: n.friendlyName,
    capabilities: n.capabilities,
  }));
  if (numbers.length === 0) out.line('The account has no phone numbers.');
  const capable = (c: (typeof numbers)[number]['capabilities']) =>
    Object.entries(c)
      .filter(([, on]) => on)
      .map(([name]) => name)
      .join(', ');
  for (const row of columns(numbers.map((n) => [n.phoneNumber, n.friendlyName, capable(n.capabilities)]))) {
    out.line(row);
  }
  out.result({ ok: true, phoneNumbers: numbers });
  return EXIT.ok;
}

import { Type, type Static, type TInteger } from '@sinclair/typebox';
import { STATUS_ORDER, type MessageStatusName } from '@smsq/shared';

const STATS_GROUPS = ['day', 'category', 'status', 'country'] as const;
export type StatsGroup = (typeof STATS_GROUPS)[number];

/** The longest window one request may ask for. */
export const STATS_MAX_WINDOW_DAYS = 366;

export const StatsQuery = Type.Object(
  {
    since: Type.Optional(
      Type.String({ format: 'date-time', description: 'Messages created at or after this (default: until − 7 days)' }),
    ),
    until: Type.Optional(
      Type.String({ format: 'date-time', description: 'Messages created before this (default: now)' }),
    ),
    service: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: "One service's figures (admin keys; others see only their own service's)",
      }),
    ),
    groupBy: Type.Union(
      STATS_GROUPS.map((g) => Type.Literal(g)),
      { default: 'day', description: 'day: UTC calendar days; country: ISO 3166 of the destination (null: unknown)' },
    ),
  },
  { additionalProperties: false },
);
export type StatsQuery = Static<typeof StatsQuery>;

const ByStatus = Type.Object(
  Object.fromEntries(STATUS_ORDER.map((s) => [s, Type.Integer()])) as Record<MessageStatusName, TInteger>,
  { description: 'Messages by their current status; every status is present' },
);

const Figures = {
  messages: Type.Integer(),
  byStatus: ByStatus,
  deliveryRate: Type.Union([Type.Number(), Type.Null()], {
    description:
      'delivered / (delivered + undelivered + failed + expired): of the messages that reached an outcome, the share delivered; null when none did. Canceled and in-flight messages are left out.',
  }),
  segments: Type.Integer({ description: 'Segments of every message, as Twilio bills them' }),
  cost: Type.Record(Type.String(), Type.String(), {
    description:
      'Unit → amount that Twilio reported (as a positive decimal string), over the `priced` messages only; Twilio prices a message after it is sent',
    examples: [{ USD: '7.90000' }],
  }),
  priced: Type.Integer({ description: 'Messages whose price Twilio has reported' }),
};

export const StatsResponse = Type.Object(
  {
    since: Type.String({ format: 'date-time' }),
    until: Type.String({ format: 'date-time' }),
    groupBy: Type.Union(STATS_GROUPS.map((g) => Type.Literal(g))),
    totals: Type.Object(Figures),
    groups: Type.Array(
      Type.Object({
        key: Type.Union([Type.String(), Type.Null()], {
          description: 'The day (YYYY-MM-DD, UTC), category, status or country; null for an unknown country',
        }),
        ...Figures,
      }),
      { description: 'One entry per key that has messages, in key order' },
    ),
  },
  {
    examples: [
      {
        since: '2026-11-14T00:00:00.000Z',
        until: '2026-11-21T00:00:00.000Z',
        groupBy: 'category',
        totals: {
          messages: 1200,
          byStatus: {
            queued: 0,
            sending: 0,
            submitted: 0,
            sent: 10,
            delivered: 1150,
            undelivered: 20,
            failed: 12,
            expired: 3,
            canceled: 5,
          },
          deliveryRate: 0.9703,
          segments: 1310,
          cost: { USD: '9.32200' },
          priced: 1180,
        },
        groups: [
          {
            key: 'otp',
            messages: 1000,
            byStatus: {
              queued: 0,
              sending: 0,
              submitted: 0,
              sent: 5,
              delivered: 980,
              undelivered: 8,
              failed: 5,
              expired: 2,
              canceled: 0,
            },
            deliveryRate: 0.985,
            segments: 1000,
            cost: { USD: '7.80100' },
            priced: 988,
          },
        ],
      },
    ],
  },
);
export type StatsResponse = Static<typeof StatsResponse>;

import { TwilioApiError } from './errors.js';

type Query = Record<string, string | undefined>;

export interface PageRequest {
  pageSize: number;
  page: number;
  pageToken: string | null;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

function nonNegativeInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new TwilioApiError(20001, `Invalid ${name}: ${text}`, 400);
  return Number(text);
}

export function readPageRequest(query: Query): PageRequest {
  const pageSize = Math.min(nonNegativeInteger('PageSize', query.PageSize, DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
  if (pageSize === 0) throw new TwilioApiError(20001, 'Invalid PageSize: 0', 400);
  return { pageSize, page: nonNegativeInteger('Page', query.Page, 0), pageToken: query.PageToken ?? null };
}

/**
 * Like Twilio, page tokens are cursors: `PA<sid>` means "after this item", `PB<sid>` "before it", so pages stay
 * stable while new messages arrive at the head of the list. Without a (known) token, Page is an offset.
 */
function slice<T extends { sid: string }>(items: T[], request: PageRequest): T[] {
  const { pageSize, page, pageToken } = request;
  const anchor = pageToken === null ? -1 : items.findIndex((item) => item.sid === pageToken.slice(2));
  if (anchor >= 0 && pageToken?.startsWith('PA')) return items.slice(anchor + 1, anchor + 1 + pageSize);
  if (anchor >= 0 && pageToken?.startsWith('PB')) return items.slice(Math.max(0, anchor - pageSize), anchor);
  return items.slice(page * pageSize, (page + 1) * pageSize);
}

/**
 * Twilio's list envelope. `filters` are the request's own filter parameters, echoed into the page URIs in the
 * order given so the SDK can follow next_page_uri.
 */
export function pageEnvelope<T extends { sid: string }, R>(options: {
  key: string;
  path: string;
  filters: [string, string][];
  items: T[];
  request: PageRequest;
  render: (item: T) => R;
}) {
  const { key, path, filters, items, request, render } = options;
  const { pageSize, page } = request;
  const uri = (pageNumber: number, token: string | null): string => {
    const query = new URLSearchParams(filters);
    query.set('PageSize', String(pageSize));
    query.set('Page', String(pageNumber));
    if (token !== null) query.set('PageToken', token);
    return `${path}?${query.toString()}`;
  };
  const pageItems = slice(items, request);
  const firstItem = pageItems[0];
  const lastItem = pageItems.at(-1);
  const hasMore = lastItem !== undefined && items.indexOf(lastItem) < items.length - 1;
  const start = page * pageSize;
  return {
    [key]: pageItems.map(render),
    end: pageItems.length === 0 ? start : start + pageItems.length - 1,
    first_page_uri: uri(0, null),
    next_page_uri: hasMore ? uri(page + 1, `PA${lastItem.sid}`) : null,
    page,
    page_size: pageSize,
    previous_page_uri: page > 0 && firstItem !== undefined ? uri(page - 1, `PB${firstItem.sid}`) : null,
    start,
    uri: uri(page, request.pageToken),
  };
}

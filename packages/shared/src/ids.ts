import { v7 as uuidv7 } from 'uuid';

/** Message ids are UUIDv7: time-ordered, so the primary key doubles as the list cursor. */
export function newMessageId(): string {
  return uuidv7();
}

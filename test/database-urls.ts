export function databaseUrlFor(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The maintenance database, for CREATE/DROP DATABASE. */
export function adminUrl(databaseUrl: string): string {
  return databaseUrlFor(databaseUrl, 'postgres');
}

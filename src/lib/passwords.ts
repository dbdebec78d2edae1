import { hash, verify } from '@node-rs/bcrypt';

// Passwords are bcrypt with cost 10, as Auth0 stores them. The bcrypt core
// computes $2a$/$2b$/$2y$ identically and this library labels its output $2y$;
// we label ours $2b$, the form Auth0 imports and exports.
export const BCRYPT_COST = 10;

export async function hashPassword(password: string): Promise<string> {
  return (await hash(password, BCRYPT_COST)).replace(/^\$2y\$/, '$2b$');
}

export function passwordMatches(password: string, stored: string): Promise<boolean> {
  return verify(password, stored).catch(() => false);
}

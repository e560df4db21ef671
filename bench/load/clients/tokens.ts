/** Client tokens for tether: HS256 JWTs allowing every channel, one user per client. */
import { SignJWT } from 'jose';

const keys = new Map<string, Uint8Array>();

export function mintToken(secret: string, userId: string): Promise<string> {
  let key = keys.get(secret);
  if (!key) {
    key = new TextEncoder().encode(secret);
    keys.set(secret, key);
  }
  return new SignJWT({ channels: ['*'], publish: ['*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(key);
}

export { roles, principalSubject, type Principal, type Role } from '../../domain/principal';
import type { Principal } from '../../domain/principal';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the authentication middleware when the request carried a valid, unrevoked key. */
    principal?: Principal;
  }
}

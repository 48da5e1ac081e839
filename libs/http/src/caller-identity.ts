import { Logger, type FactoryProvider, type InjectionToken } from '@nestjs/common';
import type { HttpAuthConfig, PlatformConfig } from '@app/platform';
import { errors, importSPKI, jwtVerify, type CryptoKey, type JWTVerifyOptions, type KeyObject } from 'jose';
import { ApiError, REQUEST_INVALID } from './api-error.js';
import { ROLE } from './principal.js';

/** Nest injection token of a service's CallerIdentity (built from PlatformConfig.httpAuth). */
export const CALLER_IDENTITY = Symbol('CALLER_IDENTITY');

/** The CALLER_IDENTITY provider of a service's HTTP module; `configToken` provides its PlatformConfig. */
export function callerIdentityProvider(configToken: InjectionToken, service: string): FactoryProvider {
  return {
    provide: CALLER_IDENTITY,
    inject: [configToken],
    useFactory: (config: PlatformConfig) => CallerIdentity.fromConfig(config.httpAuth, service),
  };
}

export const AUTH_UNAUTHENTICATED = 'AUTH.UNAUTHENTICATED';
export const AUTH_PRINCIPAL_MISMATCH = 'AUTH.PRINCIPAL_MISMATCH';
export const AUTH_FORBIDDEN = 'AUTH.FORBIDDEN';

/**
 * The role a token must carry for each command (TOKEN mode): finance approves, operators close and
 * retry, reconciliation clerks resolve discrepancies, pricing manages fee rules. Segregation of
 * duties on top of maker-checker: an authenticated engineer is not an approver.
 */
export const COMMAND_ROLE = {
  approveSettlement: ROLE.approveSettlement,
  retryPayout: ROLE.retryPayout,
  closeCycle: ROLE.closeCycle,
  resolveDiscrepancy: ROLE.resolveDiscrepancy,
  manageFeeRules: ROLE.manageFeeRules,
} as const;
export type CommandRole = (typeof COMMAND_ROLE)[keyof typeof COMMAND_ROLE];

const PRINCIPAL = /^[\p{L}\p{N}._:@-]{1,200}$/u;
/** A token is checked with this much leeway on exp/nbf: clocks of two hosts never agree exactly. */
const CLOCK_TOLERANCE_S = 30;

/**
 * Who is calling an HTTP command: what maker-checker compares, what the audit trail records.
 *
 * - TOKEN (production): `Authorization: Bearer <JWT>` signed by the identity provider (HS256 with a
 *   shared secret, or RS256/PS256/ES256/EdDSA with its public key), not expired, with the configured
 *   issuer and audience; the caller is its `sub`. A body field naming the caller (`by`, `actor`) may
 *   be left out; if sent it must be the same principal, or the command is refused (403): nobody
 *   acts in someone else's name.
 * - DECLARED (development, no HTTP_AUTH_* set): the body field is the caller, as the request says.
 *   A warning at boot says so.
 */
export class CallerIdentity {
  private readonly logger = new Logger('CallerIdentity');

  private constructor(
    readonly mode: 'TOKEN' | 'DECLARED',
    private readonly key: Uint8Array | CryptoKey | KeyObject | null,
    private readonly verifyOptions: JWTVerifyOptions,
    private readonly rolesClaim = 'roles',
  ) {}

  static async fromConfig(config: HttpAuthConfig | null, service: string): Promise<CallerIdentity> {
    if (config === null) {
      new Logger('CallerIdentity').warn(
        `${service}: HTTP commands take the caller from the request body (development only); ` +
          'set HTTP_AUTH_JWT_SECRET or HTTP_AUTH_JWT_PUBLIC_KEY_FILE to require bearer tokens',
      );
      return new CallerIdentity('DECLARED', null, {});
    }
    const common: JWTVerifyOptions = {
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['sub', 'exp'],
      ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
      ...(config.audience === undefined ? {} : { audience: config.audience }),
    };
    if (config.jwtSecret !== undefined)
      return new CallerIdentity(
        'TOKEN',
        new TextEncoder().encode(config.jwtSecret),
        { ...common, algorithms: ['HS256'] },
        config.rolesClaim,
      );
    const algorithm = config.jwtAlgorithm ?? 'RS256';
    return new CallerIdentity(
      'TOKEN',
      await importSPKI(config.jwtPublicKey!, algorithm),
      { ...common, algorithms: [algorithm] },
      config.rolesClaim,
    );
  }

  /**
   * For commands that name no caller in their body (a cycle close): in TOKEN mode the token's
   * principal (401 without a valid one), in DECLARED mode null.
   */
  async authenticated(authorization: string | undefined, role: CommandRole): Promise<string | null> {
    return this.mode === 'DECLARED' ? null : this.principalOf(authorization, { field: 'caller', role });
  }

  /**
   * The authenticated (or, in DECLARED mode, declared) principal of a command.
   * @param authorization the Authorization header as received
   * @param command.declared the body field naming the caller, if the client sent one
   * @param command.field that field's name, for the messages
   * @param command.role the role the token must carry (TOKEN mode)
   * @throws ApiError 401 AUTH.UNAUTHENTICATED, 403 AUTH.PRINCIPAL_MISMATCH or AUTH.FORBIDDEN,
   *   400 REQUEST.INVALID
   */
  async principalOf(
    authorization: string | undefined,
    command: { declared?: string | undefined; field: string; role?: CommandRole },
  ): Promise<string> {
    const { declared, field, role } = command;
    if (this.mode === 'DECLARED') {
      if (declared === undefined)
        throw new ApiError(400, REQUEST_INVALID, `${field}: required (who is acting)`, {
          issues: [{ path: field, message: 'required (who is acting)' }],
        });
      return declared;
    }
    try {
      return await this.verifiedPrincipal(authorization, declared, field, role);
    } catch (error) {
      // A refused caller is a security event: monitoring counts and alerts on these lines.
      if (error instanceof ApiError)
        this.logger.warn(
          `refused a command${role === undefined ? '' : ` needing ${role}`}: ${error.code}: ${error.message}`,
        );
      throw error;
    }
  }

  private async verifiedPrincipal(
    authorization: string | undefined,
    declared: string | undefined,
    field: string,
    role: CommandRole | undefined,
  ): Promise<string> {
    const token = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization ?? '')?.[1];
    if (token === undefined)
      throw new ApiError(
        401,
        AUTH_UNAUTHENTICATED,
        'a bearer token is required (Authorization: Bearer <JWT>)',
      );
    let subject: string | undefined;
    let roles: unknown;
    try {
      const { payload } = await jwtVerify(token, this.key!, this.verifyOptions);
      subject = payload.sub;
      roles = payload[this.rolesClaim];
    } catch (error) {
      throw new ApiError(401, AUTH_UNAUTHENTICATED, `the bearer token was not accepted: ${describe(error)}`);
    }
    if (subject === undefined || !PRINCIPAL.test(subject))
      throw new ApiError(401, AUTH_UNAUTHENTICATED, 'the bearer token names no usable principal (sub)');
    if (declared !== undefined && declared !== subject)
      throw new ApiError(
        403,
        AUTH_PRINCIPAL_MISMATCH,
        `the token is ${subject}'s but ${field} says "${declared}"; nobody acts in someone else's name`,
      );
    if (role !== undefined && !rolesOf(roles).includes(role))
      throw new ApiError(
        403,
        AUTH_FORBIDDEN,
        `${subject} lacks the role ${role} (claim "${this.rolesClaim}" of the token) needed for this command`,
      );
    return subject;
  }
}

/** A roles claim as identity providers write it: an array of names, or one space-separated string. */
function rolesOf(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((r): r is string => typeof r === 'string');
  if (typeof claim === 'string') return claim.split(' ').filter((r) => r !== '');
  return [];
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'it has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim ${error.claim} ${error.reason}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'its algorithm is not the configured one';
  return 'it is malformed';
}

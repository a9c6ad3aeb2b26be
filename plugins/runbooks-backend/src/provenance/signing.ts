import {
  LoggerService,
  RootConfigService,
} from '@backstage/backend-plugin-api';
import { bundleToJSON, SerializedBundle } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { TrustedKey, trustedKeyFromPem } from '@runbooks/plugin-runbooks-node';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  sign as ecdsaSign,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as sigstore from 'sigstore';

/** Signs statements into Sigstore bundles. */
export interface ProvenanceSigner {
  /** Hint of the key that signs (for keyless signing: 'keyless'). */
  readonly keyHint: string;
  /** A Sigstore bundle v0.3 with the payload in a DSSE envelope. */
  sign(payload: Buffer, payloadType: string): Promise<SerializedBundle>;
}

/** Signs with an ECDSA P-256 private key; the bundle carries the key's hint. */
export class KeyPairSigner implements ProvenanceSigner {
  readonly keyHint: string;
  readonly publicKey: TrustedKey;
  private readonly builder: DSSEBundleBuilder;

  constructor(privateKey: KeyObject) {
    if (
      privateKey.asymmetricKeyType !== 'ec' ||
      privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
    ) {
      throw new Error(
        'runbooks.provenance: the signing key must be an ECDSA P-256 private key',
      );
    }
    this.publicKey = trustedKeyFromPem(
      createPublicKey(privateKey)
        .export({ type: 'spki', format: 'pem' })
        .toString(),
    );
    this.keyHint = this.publicKey.hint;
    const key = {
      $case: 'publicKey' as const,
      publicKey: this.publicKey.publicKeyPem,
      hint: this.keyHint,
    };
    this.builder = new DSSEBundleBuilder({
      signer: {
        sign: async (data: Buffer) => ({
          signature: ecdsaSign('sha256', data, privateKey),
          key,
        }),
      },
      witnesses: [],
    });
  }

  async sign(payload: Buffer, payloadType: string) {
    return bundleToJSON(
      await this.builder.create({ data: payload, type: payloadType }),
    );
  }
}

/**
 * Keyless signing through Sigstore's public good instance (or your own): a short-lived Fulcio
 * certificate for the OIDC identity, the signature logged in Rekor. Needs network and a token, so
 * it is not exercised by this repository's tests.
 */
export class KeylessSigner implements ProvenanceSigner {
  readonly keyHint = 'keyless';

  constructor(
    private readonly options: {
      identityToken: () => string;
      fulcioURL?: string;
      rekorURL?: string;
    },
  ) {}

  async sign(payload: Buffer, payloadType: string) {
    return sigstore.attest(payload, payloadType, {
      identityToken: this.options.identityToken(),
      fulcioURL: this.options.fulcioURL,
      rekorURL: this.options.rekorURL,
    });
  }
}

/** The signer and the keys statements are verified with, from `runbooks.provenance`. */
export interface ProvenanceKeys {
  signer: ProvenanceSigner;
  /** Every key statements may carry: the signing key and retired keys still trusted. */
  trustedKeys: TrustedKey[];
  /** Keyless settings for verification, when signing is keyless. */
  keyless?: { certificateIssuer?: string; certificateIdentityURI?: string };
}

function pemOrFile(value: string, baseDir: string): string {
  if (value.includes('-----BEGIN')) return value;
  return fs.readFileSync(path.resolve(baseDir, value), 'utf8');
}

/**
 * Reads the provenance keys from config. With `signingKeyFile` and `generateKey: true` (the local
 * portal) a key is generated into that file on first start. With nothing configured, outside
 * production, an ephemeral key signs (its statements verify only while this backend runs);
 * production refuses to start without a key.
 */
export function readProvenanceKeys(
  config: RootConfigService,
  logger: LoggerService,
  options: { baseDir?: string; production?: boolean } = {},
): ProvenanceKeys {
  const baseDir = options.baseDir ?? process.cwd();
  const production =
    options.production ?? process.env.NODE_ENV === 'production';
  const c = config.getOptionalConfig('runbooks.provenance');
  const trusted = (c?.getOptionalStringArray('trustedKeys') ?? []).map(
    (value, i) => {
      try {
        return trustedKeyFromPem(pemOrFile(value, baseDir));
      } catch (e) {
        throw new Error(
          `runbooks.provenance.trustedKeys[${i}]: ${(e as Error).message}`,
        );
      }
    },
  );

  const keyless = c?.getOptionalConfig('keyless');
  if (keyless) {
    const token = keyless.getOptionalString('identityToken');
    const tokenFile = keyless.getOptionalString('identityTokenFile');
    if (!token && !tokenFile) {
      throw new Error(
        'runbooks.provenance.keyless needs identityTokenFile (re-read for every signature, e.g. a projected service account token) or identityToken',
      );
    }
    return {
      signer: new KeylessSigner({
        // OIDC tokens expire: a file the platform refreshes is read again for every signature
        identityToken: () =>
          tokenFile
            ? fs.readFileSync(path.resolve(baseDir, tokenFile), 'utf8').trim()
            : token!,
        fulcioURL: keyless.getOptionalString('fulcioURL'),
        rekorURL: keyless.getOptionalString('rekorURL'),
      }),
      trustedKeys: trusted,
      keyless: {
        certificateIssuer: keyless.getOptionalString('certificateIssuer'),
        certificateIdentityURI: keyless.getOptionalString(
          'certificateIdentityURI',
        ),
      },
    };
  }

  let privateKey: KeyObject;
  const inline = c?.getOptionalString('signingKey');
  const file = c?.getOptionalString('signingKeyFile');
  if (inline) {
    privateKey = parsePrivateKey(inline, 'runbooks.provenance.signingKey');
  } else if (file) {
    const resolved = path.resolve(baseDir, file);
    if (!fs.existsSync(resolved) && c?.getOptionalBoolean('generateKey')) {
      if (production) {
        throw new Error(
          'runbooks.provenance.generateKey is for local development: in production configure signingKey or signingKeyFile with a key you keep',
        );
      }
      const generated = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      fs.mkdirSync(path.dirname(resolved), { recursive: true });
      fs.writeFileSync(
        resolved,
        generated.privateKey.export({ type: 'pkcs8', format: 'pem' }),
        { mode: 0o600 },
      );
      const hint = trustedKeyFromPem(
        generated.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      ).hint;
      logger.warn(
        `########## RUNBOOKS PROVENANCE: generated a new signing key (ECDSA P-256) into ${resolved}, key hint ${hint}. Every step is signed with it. It is for this local portal only: keep the file to verify later, never commit it, and configure runbooks.provenance.signingKey in production. ##########`,
      );
    }
    if (!fs.existsSync(resolved)) {
      throw new Error(
        `runbooks.provenance.signingKeyFile: ${resolved} does not exist`,
      );
    }
    privateKey = parsePrivateKey(
      fs.readFileSync(resolved, 'utf8'),
      `runbooks.provenance.signingKeyFile (${resolved})`,
    );
  } else {
    if (production) {
      throw new Error(
        'runbooks.provenance: configure signingKey (PEM of an ECDSA P-256 private key, from a secret) or signingKeyFile, or keyless signing; every step is signed and there is no key to sign with',
      );
    }
    privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    logger.warn(
      '########## RUNBOOKS PROVENANCE: no signing key configured (runbooks.provenance); statements are signed with a key that lives only as long as this process, so they cannot be verified after a restart. Configure runbooks.provenance.signingKey or signingKeyFile. ##########',
    );
  }
  const signer = new KeyPairSigner(privateKey);
  return {
    signer,
    trustedKeys: [
      signer.publicKey,
      ...trusted.filter(k => k.hint !== signer.keyHint),
    ],
  };
}

function parsePrivateKey(pem: string, where: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (e) {
    throw new Error(
      `${where}: not a PEM private key (${(e as Error).message})`,
    );
  }
}

import { Entity } from '@backstage/catalog-model';
import { InProcessTool } from '@runbooks/plugin-runbooks-node';
import { generateKeyPairSync } from 'node:crypto';

/** The service the test runbooks act on: component:default/checkout. */
export const checkoutEntity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'checkout', namespace: 'default' },
  spec: { type: 'service', owner: 'team-checkout' },
};

/** checkout as a Kubernetes service: deployment `checkout` in namespace `shop`. */
export const kubernetesCheckoutEntity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'checkout',
    namespace: 'default',
    annotations: {
      'backstage.io/kubernetes-id': 'checkout',
      'backstage.io/kubernetes-namespace': 'shop',
    },
  },
  spec: { type: 'service', owner: 'team-checkout' },
};

/** A Runbook entity in the default namespace, owned by group:default/sre, for checkout. */
export function runbookEntity(
  name: string,
  spec: Record<string, unknown>,
): Entity {
  return {
    apiVersion: 'runbooks.backstage.io/v1alpha1',
    kind: 'Runbook',
    metadata: { name, namespace: 'default' },
    spec: {
      owner: 'group:default/sre',
      appliesTo: { entities: ['component:default/checkout'] },
      ...spec,
    },
  };
}

/** The `replicas` parameter of the scaling runbooks: an integer from 1 to 20. */
export const replicasParameter = {
  replicas: { type: 'integer', minimum: 1, maximum: 20 },
};

/** A read step: `k8s/get`. */
export const readStep = { id: 'read', tool: 'k8s/get', mutates: false };

/** A mutating step that plans and applies `k8s/scale` to the `replicas` parameter. */
export const scaleStep = {
  id: 'scale',
  tool: 'k8s/scale',
  mutates: true,
  dryRun: true,
  input: { replicas: '${{ parameters.replicas }}' },
};

/**
 * The runbook `name` that reads checkout then scales it to the `replicas` parameter; `scale` is
 * merged into the scale step (e.g. `{ approval: 'always' }`).
 */
export function scaleRunbookEntity(
  name = 'scale',
  scale: Record<string, unknown> = {},
): Entity {
  return runbookEntity(name, {
    parameters: replicasParameter,
    steps: [readStep, { ...scaleStep, ...scale }],
  });
}

/**
 * The in-process tools of the scaling runbooks over a fake deployment's `state`: `k8s/get`
 * (read-only, returns the state) and `k8s/scale` (plans an update of `replicas`, then sets it);
 * with `snapshots`, `k8s/scale` also returns the state as its snapshot.
 */
export function replicaTools(
  state: { replicas: number },
  options: { snapshots?: boolean } = {},
): Record<string, InProcessTool> {
  return {
    'k8s/get': {
      description: { annotations: { readOnlyHint: true } },
      run: () => ({ ...state }),
    },
    'k8s/scale': {
      plan: input => ({
        changes: [{ action: 'update', to: input.replicas }],
        objectCount: 1,
      }),
      run: input => {
        state.replicas = input.replicas as number;
        return { ...state };
      },
      ...(options.snapshots ? { snapshot: () => ({ ...state }) } : {}),
    },
  };
}

/** A new P-256 signing key, as a KeyObject and as PEM (PKCS#8 private, SPKI public). */
export function newSigningKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
  });
  return {
    privateKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** The in-toto statement a Sigstore bundle (one JSONL line) signs. */
export function statementOf(bundleLine: string) {
  const bundle = JSON.parse(bundleLine);
  return JSON.parse(
    Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'),
  );
}

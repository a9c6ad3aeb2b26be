/**
 * A Kubernetes object as JSON (the fake keeps everything unstructured, like a dynamic client).
 * @public
 */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }>;
    generateName?: string;
    [key: string]: unknown;
  };
  [key: string]: any;
};

/**
 * The state a fake API server starts with: objects created in order through the same code path
 * as API writes (controllers run after each one). An object whose kind, namespace and name appear
 * again later is replaced, so a Deployment listed twice with different templates starts with two
 * revisions in its rollout history. Pods and nodes keep the `status` given here.
 * @public
 */
export interface KubeFakeSeed {
  objects: KubeObject[];
  /** After the objects: make the first `count` pods (by name) matching a selector crash-loop. */
  crashLooping?: Array<{
    namespace: string;
    labelSelector: string;
    count: number;
  }>;
}

/**
 * A resource the fake serves (what discovery lists).
 * @public
 */
export interface ResourceType {
  group: string;
  version: string;
  /** Plural name in URLs. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Has a `status` subresource: the main endpoint ignores status, `/status` only writes status. */
  statusSubresource: boolean;
  /** `metadata.generation` is kept and bumped on spec changes. */
  generation: boolean;
  scaleSubresource?: boolean;
}

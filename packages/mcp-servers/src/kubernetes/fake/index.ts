/*
 * A fake Kubernetes API server for tests and for the demo cluster of the local portal. The REAL
 * kubectl talks to it over HTTP. It is NOT a Kubernetes cluster, and it is honest about it:
 *
 * What it models
 * - Legacy discovery (/api, /apis, /api/v1, /apis/{apps,policy}/v1, /version); aggregated
 *   discovery is not offered (kubectl falls back), nor OpenAPI (/openapi/* is 404: use
 *   `kubectl apply --validate=false`).
 * - namespaces, nodes, pods (+ eviction, status, a placeholder log), secrets, configmaps,
 *   deployments and replicasets (+ scale, status), daemonsets, poddisruptionbudgets: get, list
 *   (labelSelector; fieldSelector on any dotted path), watch (initial ADDED events or replay after
 *   a resourceVersion, then live changes), create, replace (409 on a stale resourceVersion),
 *   strategic merge / JSON merge / JSON patch, delete and deletecollection, server-side dry-run
 *   (`?dryRun=All` or DeleteOptions.dryRun: nothing stored, no resourceVersion used).
 * - resourceVersion is one global counter; uid, creationTimestamp, generation (bumped on spec
 *   changes of deployments, replicasets, daemonsets, PDBs); status is only written through /status.
 * - Synchronous controllers, run after every write until nothing changes: deployments (a
 *   ReplicaSet per pod template with pod-template-hash and revision annotations, rollback reuses the
 *   old ReplicaSet, old ones scaled to 0 and pruned beyond revisionHistoryLimit, status and
 *   conditions), replicasets (create/delete pods), a scheduler (least-loaded Ready node that is not
 *   cordoned; nodeSelector and NoSchedule taints), a kubelet (pods go Running and Ready at once;
 *   the pod annotation `fake.runbooks.backstage.io/crash-loop: "true"` makes them CrashLoopBackOff),
 *   PDB status (minAvailable/maxUnavailable over matching pods), garbage collection by owner uid,
 *   and the eviction API (429 TooManyRequests when a PDB forbids it).
 *
 * What it does not model
 * - No authentication or authorization, no TLS, no admission webhooks, no OpenAPI schema, no field
 *   validation beyond a few checks, no managedFields; server-side apply is a strategic merge of
 *   the applied object (no ownership, no conflicts, dropped fields are not removed).
 * - No graceful termination (deletes are immediate, gracePeriodSeconds is accepted and ignored), no
 *   finalizers, no real rolling update (surge/unavailable limits are ignored: old pods are replaced
 *   at once), no progress deadline timer, no readiness probes, containers or logs.
 * - No DaemonSet, StatefulSet, Job, Service or Endpoint controllers; DaemonSet pods exist only
 *   when seeded. Watches send no bookmarks unless sendInitialEvents is asked for, and keep only the
 *   newest 5000 events for replay (older resourceVersions get 410 Gone).
 * - Table output (`kubectl get` without -o) has a few columns per kind; everything else is JSON.
 */
export * from './KubeApiFake';
export * from './demoClusterSeed';
export * from './types';
export * from './FakeCluster';

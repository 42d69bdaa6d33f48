import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** The Kubernetes objects of a manifest file (several YAML documents), parse errors thrown. */
export type KubernetesObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [key: string]: unknown;
};

export type Container = {
  name: string;
  image?: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
};
type Probe = { httpGet?: { path: string; port: number | string } };

export type PodTemplate = {
  spec: { containers: Container[]; securityContext?: Record<string, unknown> };
};

export function parseObjects(text: string, source: string): KubernetesObject[] {
  const documents = parseAllDocuments(text);
  const objects: KubernetesObject[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      throw new Error(`${source}: ${document.errors.map((error) => error.message).join('; ')}`);
    }
    const value = document.toJS() as KubernetesObject | null;
    if (value) objects.push(value);
  }
  return objects;
}

export function readObjects(path: string): KubernetesObject[] {
  return parseObjects(readFileSync(path, 'utf8'), path);
}

/** KEY=value lines of a kustomize env file; comments and blank lines skipped. */
export function readEnvFile(path: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [key = '', ...value] = trimmed.split('=');
    entries.set(key, value.join('='));
  }
  return entries;
}

/** Every file under a folder whose name ends with the suffix, recursively. */
export function filesUnder(folder: string, suffix: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

export function podTemplateOf(object: KubernetesObject): PodTemplate | undefined {
  const template = (object.spec as { template?: PodTemplate } | undefined)?.template;
  return template?.spec?.containers ? template : undefined;
}

/**
 * Names of the environment variables a rendered set of objects gives each container: its `env`
 * entries and the keys of the ConfigMaps and Secrets it takes whole (`envFrom`). A ConfigMap or
 * Secret that is not among the objects is reported as missing.
 */
export function environmentNames(objects: readonly KubernetesObject[]): {
  names: Set<string>;
  missing: string[];
} {
  const byName = new Map(
    objects
      .filter((object) => object.kind === 'ConfigMap' || object.kind === 'Secret')
      .map((object) => [`${object.kind}/${object.metadata.name}`, object]),
  );
  const names = new Set<string>();
  const missing: string[] = [];
  for (const object of objects) {
    for (const container of podTemplateOf(object)?.spec.containers ?? []) {
      for (const entry of container.env ?? []) names.add(entry.name);
      for (const source of container.envFrom ?? []) {
        const key = source.configMapRef
          ? `ConfigMap/${source.configMapRef.name}`
          : `Secret/${source.secretRef?.name ?? ''}`;
        const found = byName.get(key);
        if (!found) {
          missing.push(key);
          continue;
        }
        const data = { ...(found.data ?? {}), ...((found.stringData as Record<string, string>) ?? {}) };
        for (const name of Object.keys(data)) names.add(name);
      }
    }
  }
  return { names, missing };
}

/** Variable names in README's Configuration table. */
export function readmeConfigurationNames(readme: string): Set<string> {
  const section = /^## Configuration\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  return new Set([...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((match) => match[1]!));
}

{{/*
Helpers of the canaryd chart: names, labels, and the RBAC rules that the ClusterRole
(rbac.scope cluster) and the Roles (rbac.scope namespaced) share.
*/}}

{{/* The chart's name, or nameOverride. */}}
{{- define "canaryd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: fullnameOverride, else the release name when it already
contains the chart's name, else "<release>-<chart>"; at most 63 characters (a DNS label).
*/}}
{{- define "canaryd.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<chart>-<version>", for the helm.sh/chart label. */}}
{{- define "canaryd.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The labels every object carries. */}}
{{- define "canaryd.labels" -}}
helm.sh/chart: {{ include "canaryd.chart" . }}
{{ include "canaryd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: canaryd
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The labels that select canaryd's pods (immutable in the Deployment's selector). */}}
{{- define "canaryd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "canaryd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount canaryd runs as. */}}
{{- define "canaryd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "canaryd.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "canaryd.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The leader-election Lease's name. */}}
{{- define "canaryd.leaseName" -}}
{{- default (include "canaryd.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
The namespaces watched with rbac.scope namespaced, one a line: rbac.namespaces, or the
release's namespace.
*/}}
{{- define "canaryd.watchedNamespaces" -}}
{{- if .Values.rbac.namespaces }}
{{- range .Values.rbac.namespaces }}
{{ . }}
{{- end }}
{{- else }}
{{ .Release.Namespace }}
{{- end }}
{{- end }}

{{/* Values that the schema cannot check on its own. */}}
{{- define "canaryd.validate" -}}
{{- if and (ne .Values.rbac.scope "namespaced") .Values.rbac.namespaces }}
{{- fail "rbac.namespaces is set but rbac.scope is cluster: set rbac.scope=namespaced to watch only those namespaces, or remove rbac.namespaces to watch every namespace" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount > 1 needs leaderElection.enabled=true: replicas without a leader would all write" }}
{{- end }}
{{- end }}

{{/*
What canaryd calls, per API group (the same list as manifests/install.yaml's ClusterRole;
tests/deploy/ checks both against the requests canaryd makes through a set of rollouts).
*/}}
{{- define "canaryd.rules" -}}
# The informers list and watch Rollouts and AnalysisTemplates. get: a Rollout, once per
# ReplicaSet created, for its pod template (the cache keeps only its hash).
- apiGroups: [canaryd.io]
  resources: [rollouts]
  verbs: [get, list, watch]
- apiGroups: [canaryd.io]
  resources: [analysistemplates]
  verbs: [list, watch]
# .status is written by PUT to the status subresource; never the spec.
- apiGroups: [canaryd.io]
  resources: [rollouts/status]
  verbs: [update]
# Stable and canary ReplicaSets. get: only after a create answered AlreadyExists.
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [get, list, watch, create, patch, delete]
# The stable and canary Services' selectors.
- apiGroups: [""]
  resources: [services]
  verbs: [list, watch, patch]
# Prometheus credentials (analysis.prometheus.authSecretRef), read by name only.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
# trafficRouting.nginx: the stable Ingress read, the canary Ingress owned.
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [get, create, patch]
# trafficRouting.gatewayAPI: the user's HTTPRoute.
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [get, patch]
# Events about Rollouts; a repeated Event is patched.
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/* The leader-election rules: create any Lease, read and renew only canaryd's. */}}
{{- define "canaryd.leaseRules" -}}
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  resourceNames: [{{ include "canaryd.leaseName" . | quote }}]
  verbs: [get, update]
{{- end }}

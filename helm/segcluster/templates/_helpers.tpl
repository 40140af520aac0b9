{{/* A value the schema lets be a string or an integer (image.tag, orleans.clusterId, token.value, redis.auth.password),
as written: helm reads a values file's numbers as float64, which print in exponent form from a million on (tag: 20240101
became the image segcluster-node:2.0240101e+07, token 12345678 the token 1.2345678e+07); --set makes integers of digits.
Empty or absent renders nothing. */}}
{{- define "segcluster.scalar" -}}
{{- if kindIs "float64" . -}}
{{- int64 . -}}
{{- else if . -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/* Full name of the release's objects. */}}
{{- define "segcluster.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "segcluster.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of node pods. */}}
{{- define "segcluster.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: node
{{- end -}}

{{/* Selector labels of the bundled Redis' pod: its StatefulSet, Services and NetworkPolicy select it by these (a
StatefulSet's selector is immutable: they stay what they were). */}}
{{- define "segcluster.redisSelectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end -}}

{{/* The node pods' ServiceAccount: the chart's own (serviceAccount.name or the full name), or with create false an
existing one (serviceAccount.name or the namespace's "default"). */}}
{{- define "segcluster.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "segcluster.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "segcluster.tokenSecretName" -}}
{{- default (printf "%s-token" (include "segcluster.fullname" .)) .Values.token.existingSecret -}}
{{- end -}}

{{/* The cluster token of the chart's token Secret: token.value, else kept or generated (segcluster.keptSecretValue). */}}
{{- define "segcluster.token" -}}
{{- include "segcluster.keptSecretValue" (dict "context" . "secret" (include "segcluster.tokenSecretName" .) "key" "token" "value" .Values.token.value) -}}
{{- end -}}

{{/* The checkpoint volume's claim: checkpoints.existingClaim or the chart's own. */}}
{{- define "segcluster.checkpointsClaimName" -}}
{{- default (printf "%s-checkpoints" (include "segcluster.fullname" .)) .Values.checkpoints.existingClaim -}}
{{- end -}}

{{/* host:port of Redis: the bundled Service or redis.external (the node pods read the configuration string from the
Secret of segcluster.redisSecretName instead when there is one; statefulset.yaml). */}}
{{- define "segcluster.redisAddress" -}}
{{- if .Values.redis.bundled -}}
{{- printf "%s-redis:6379" (include "segcluster.fullname" .) -}}
{{- else -}}
{{- required "redis.external must be host:port (or set redis.existingSecret) when redis.bundled is false" .Values.redis.external -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the nodes' Redis configuration string ("host:port,password=..."): the bundled Redis' own
(redis.yaml, key "connection"), or redis.existingSecret for an external one; empty = none (redis.external, no password). */}}
{{- define "segcluster.redisSecretName" -}}
{{- if .Values.redis.bundled -}}
{{- printf "%s-redis" (include "segcluster.fullname" .) -}}
{{- else -}}
{{- .Values.redis.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* A value the chart keeps in a Secret it creates: the value given in values.yaml when set; else the one the release's
Secret already holds (lookup: kept across `helm upgrade`); else a random 32-character one (at install; `helm template`
and GitOps tools cannot look it up and get a new one at every render). Worked out once per render and remembered in
.Values (one map, shared by every template of the chart during a render), so the Secret and the checksum/ annotation of
the pods that read it hold the same value: worked out twice, a generated value would differ between the two, and the
first upgrade after the install, which looks the Secret's value up, would restart those pods for nothing.
Call: include "segcluster.keptSecretValue" (dict "context" $ "secret" NAME "key" KEY "value" GIVEN). */}}
{{- define "segcluster.keptSecretValue" -}}
{{- if not (hasKey .context.Values "segcluster.kept") -}}
{{- $_ := set .context.Values "segcluster.kept" (dict) -}}
{{- end -}}
{{- $kept := get .context.Values "segcluster.kept" -}}
{{- $id := printf "%s/%s" .secret .key -}}
{{- if not (hasKey $kept $id) -}}
{{- $value := include "segcluster.scalar" .value -}}
{{- if not $value -}}
{{- $value = dig "data" .key "" (lookup "v1" "Secret" .context.Release.Namespace .secret) | b64dec -}}
{{- end -}}
{{- $_ := set $kept $id (default (randAlphaNum 32) $value) -}}
{{- end -}}
{{- get $kept $id -}}
{{- end -}}

{{/* The bundled Redis' password (requirepass): redis.auth.password, else kept or generated (segcluster.keptSecretValue). */}}
{{- define "segcluster.redisPassword" -}}
{{- include "segcluster.keptSecretValue" (dict "context" . "secret" (include "segcluster.redisSecretName" .) "key" "password" "value" .Values.redis.auth.password) -}}
{{- end -}}

{{/* Key of segcluster.redisSecretName holding the configuration string. */}}
{{- define "segcluster.redisSecretKey" -}}
{{- if .Values.redis.bundled -}}
connection
{{- else -}}
{{- .Values.redis.secretKey -}}
{{- end -}}
{{- end -}}

{{/* Node:ClusterId (also the Orleans ServiceId): orleans.clusterId when set; else the id the release's nodes already run
with (an upgrade must not move a running cluster to a new id: Orleans keys the membership and every stored experiment,
sweep and result by it, and releases installed before the per-release default ran "segcluster"); else, at install,
"<namespace>-<fullname>", so two releases on one Redis never join one cluster by sharing a default. */}}
{{- define "segcluster.clusterId" -}}
{{- $running := "" -}}
{{- $nodes := lookup "apps/v1" "StatefulSet" .Release.Namespace (include "segcluster.fullname" .) -}}
{{- if $nodes -}}
{{- range (first $nodes.spec.template.spec.containers).env -}}
{{- if eq .name "SEGCLUSTER_Node__ClusterId" -}}{{- $running = .value -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- include "segcluster.scalar" .Values.orleans.clusterId | default $running | default (printf "%s-%s" .Release.Namespace (include "segcluster.fullname" .)) -}}
{{- end -}}

{{/* Requests and limits of the node container, nvidia.com/gpu aside: nodes.resources as given, or, when it is empty,
nodes.autoResources.cpuPod for a CPU pod and gpusPerNode × nodes.autoResources.perGpu for a GPU pod (values.yaml). */}}
{{- define "segcluster.nodeResources" -}}
{{- if .Values.nodes.resources -}}
{{- toYaml .Values.nodes.resources -}}
{{- else -}}
{{- $each := .Values.nodes.autoResources.cpuPod -}}
{{- $count := 1 -}}
{{- if gt (int .Values.nodes.gpusPerNode) 0 -}}
{{- $each = .Values.nodes.autoResources.perGpu -}}
{{- $count = int .Values.nodes.gpusPerNode -}}
{{- end -}}
requests:
  cpu: {{ mul $each.cpu $count | quote }}
  memory: {{ printf "%dGi" (mul $each.memoryGi $count) }}
limits:
  memory: {{ printf "%dGi" (mul $each.memoryLimitGi $count) }}
{{- end -}}
{{- end -}}

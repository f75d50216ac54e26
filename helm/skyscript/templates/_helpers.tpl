{{/* Names and labels shared by every SkyScript object. */}}

{{/* <release>-skyscript, or the release name alone when it already says skyscript */}}
{{- define "skyscript.fullname" -}}
{{- if contains "skyscript" .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-skyscript" .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "skyscript.labels" -}}
app.kubernetes.io/name: skyscript
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "database") */}}
{{- define "skyscript.selector" -}}
app.kubernetes.io/name: skyscript
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "skyscript.image" -}}
{{- $root := .ctx -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $root.Values.images.registry) .name $root.Values.images.tag -}}
{{- end -}}

{{- define "skyscript.databaseHost" -}}
{{ include "skyscript.fullname" . }}-postgresql
{{- end -}}

{{- define "skyscript.minioHost" -}}
{{ include "skyscript.fullname" . }}-minio
{{- end -}}

{{/* host:port of the S3 endpoint */}}
{{- define "skyscript.s3Endpoint" -}}
{{- if eq .Values.objectStore.mode "minio" -}}
{{ include "skyscript.minioHost" . }}:9000
{{- else -}}
{{ required "objectStore.external.endpoint is required when objectStore.mode is external" .Values.objectStore.external.endpoint }}
{{- end -}}
{{- end -}}

{{- define "skyscript.s3Secure" -}}
{{- if eq .Values.objectStore.mode "minio" -}}false{{- else -}}{{ .Values.objectStore.external.secure }}{{- end -}}
{{- end -}}

{{- define "skyscript.minioSecret" -}}
{{ include "skyscript.fullname" . }}-minio
{{- end -}}

{{- define "skyscript.postgresSecret" -}}
{{ include "skyscript.fullname" . }}-postgresql
{{- end -}}

{{/* Security context of every SkyScript container: non-root, read-only root, no privileges. */}}
{{- define "skyscript.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Pod security context: (dict "uid" 10001) */}}
{{- define "skyscript.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "skyscript.pullSecrets" -}}
{{- if .Values.images.pullSecret }}
imagePullSecrets:
  - name: {{ .Values.images.pullSecret }}
{{- end }}
{{- end -}}


{{/* A wait-for-port init container: (dict "ctx" $ "name" "wait-db" "host" H "port" P) */}}
{{- define "skyscript.waitFor" -}}
- name: {{ .name }}
  image: {{ include "skyscript.image" (dict "ctx" .ctx "name" .ctx.Values.images.cpu) }}
  imagePullPolicy: {{ .ctx.Values.images.pullPolicy }}
  command: [python, -c]
  args:
    - |
      import socket, sys, time
      host, port = sys.argv[1], int(sys.argv[2])
      for _ in range(300):
          try:
              socket.create_connection((host, port), timeout=2).close()
              sys.exit(0)
          except OSError:
              time.sleep(2)
      sys.exit(f"{host}:{port} did not answer within 10 minutes")
    - {{ .host | quote }}
    - {{ .port | quote }}
  securityContext:
    {{- include "skyscript.containerSecurity" . | nindent 4 }}
  resources:
    requests: {cpu: 10m, memory: 32Mi}
    limits: {memory: 64Mi}
{{- end -}}

{{/* A Secret value kept from the live Secret when there is one, else the fresh value:
     (dict "keep" $keep "secret" NAME "key" KEY "fresh" VALUE) */}}
{{- define "skyscript.keep" -}}
{{- $data := index .keep .secret -}}
{{- if hasKey $data .key -}}{{ index $data .key | b64dec }}{{- else -}}{{ .fresh }}{{- end -}}
{{- end -}}

{{/* Where each credential of the step pods lives: {ENV: {secret, key}} as JSON (fromJson it).
     The chart's credentials Secret, unless the database or the object store is external and
     names its own Secret. */}}
{{- define "skyscript.secretRefs" -}}
{{- $cred := .Values.names.credentialsSecret -}}
{{- $refs := dict
      "SKYSCRIPT_DATABASE_URL" (dict "secret" $cred "key" "database-url")
      "SKYSCRIPT_STORE_ACCESS_KEY" (dict "secret" $cred "key" "store-access-key")
      "SKYSCRIPT_STORE_SECRET_KEY" (dict "secret" $cred "key" "store-secret-key")
      "SKYSCRIPT_VLM__API_KEY" (dict "secret" $cred "key" "vlm-api-key") -}}
{{- if eq .Values.database.mode "external" -}}
{{- $_ := set $refs "SKYSCRIPT_DATABASE_URL" (dict "secret" (required "database.external.existingSecret is required when database.mode is external" .Values.database.external.existingSecret) "key" .Values.database.external.lineageUrlKey) -}}
{{- end -}}
{{- if and (eq .Values.objectStore.mode "external") .Values.secrets.generate (not .Values.objectStore.external.existingSecret) -}}
{{- fail "objectStore.external.existingSecret is required when objectStore.mode is external (the chart cannot make keys for an outside S3)" -}}
{{- end -}}
{{- if and (eq .Values.objectStore.mode "external") .Values.objectStore.external.existingSecret -}}
{{- $_ := set $refs "SKYSCRIPT_STORE_ACCESS_KEY" (dict "secret" .Values.objectStore.external.existingSecret "key" .Values.objectStore.external.accessKeyKey) -}}
{{- $_ := set $refs "SKYSCRIPT_STORE_SECRET_KEY" (dict "secret" .Values.objectStore.external.existingSecret "key" .Values.objectStore.external.secretKeyKey) -}}
{{- end -}}
{{- if .Values.modelServers.script.enabled -}}
{{- $_ := set $refs (printf "%s__API_KEY" .Values.modelServers.script.settingsPrefix) (dict "secret" $cred "key" "vlm-api-key") -}}
{{- end -}}
{{- toJson $refs -}}
{{- end -}}

{{/* One env entry from a secret reference: (dict "name" ENV "ref" REF) */}}
{{- define "skyscript.secretEnv" -}}
- name: {{ .name }}
  valueFrom: {secretKeyRef: {name: {{ .ref.secret }}, key: {{ .ref.key }}}}
{{- end -}}

{{/* Names and labels shared by every SkyScript object. */}}

{{- define "skyscript.fullname" -}}
{{- printf "%s-skyscript" .Release.Name | trunc 52 | trimSuffix "-" -}}
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

{{/* The step pods' credentials as secretKeyRef env entries (never plain values). */}}
{{- define "skyscript.credentialsEnv" -}}
- name: SKYSCRIPT_DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ .Values.names.credentialsSecret }}, key: database-url}}
- name: SKYSCRIPT_STORE_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ .Values.names.credentialsSecret }}, key: store-access-key}}
- name: SKYSCRIPT_STORE_SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ .Values.names.credentialsSecret }}, key: store-secret-key}}
- name: SKYSCRIPT_VLM__API_KEY
  valueFrom: {secretKeyRef: {name: {{ .Values.names.credentialsSecret }}, key: vlm-api-key}}
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

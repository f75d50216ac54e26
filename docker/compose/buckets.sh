#!/bin/sh
# The Compose stack's buckets: private (raw media, unmasked frames) and public (masked frames,
# reports), no anonymous access to either, a read-write user for SkyScript and a read-only user
# for reviewers on the public bucket. Idempotent. The chart's bucket job does the same.
set -eu
export MC_CONFIG_DIR=/tmp/.mc
export MC_HOST_store="http://${MINIO_ROOT_USER}:${MINIO_ROOT_PASSWORD}@minio:9000"
attach() {
  if ! mc admin user info store "$2" --json | grep -Eq "\"policyName\": ?\"([^\"]*,)?$1(,|\")"; then
    mc admin policy attach store "$1" --user "$2"
  fi
}
mc ready store
mc mb --ignore-existing "store/$PRIVATE_BUCKET" "store/$PUBLIC_BUCKET"
mc anonymous set none "store/$PRIVATE_BUCKET"
mc anonymous set none "store/$PUBLIC_BUCKET"
sed "s/PRIVATE_BUCKET/$PRIVATE_BUCKET/g; s/PUBLIC_BUCKET/$PUBLIC_BUCKET/g" /setup/steps-policy.json > /tmp/steps.json
sed "s/PUBLIC_BUCKET/$PUBLIC_BUCKET/g" /setup/reviewer-policy.json > /tmp/reviewer.json
mc admin policy create store skyscript-steps-rw /tmp/steps.json
mc admin user add store skyscript-steps "$SKYSCRIPT_STORE_SECRET_KEY"
attach skyscript-steps-rw skyscript-steps
mc admin policy create store skyscript-reviewer-ro /tmp/reviewer.json
mc admin user add store skyscript-reviewer "$REVIEWER_SECRET_KEY"
attach skyscript-reviewer-ro skyscript-reviewer
echo "buckets $PRIVATE_BUCKET (private) and $PUBLIC_BUCKET (public, read-only to reviewers) ready"

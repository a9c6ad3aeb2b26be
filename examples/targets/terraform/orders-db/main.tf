# Demo stand-in for the orders database of the shop (examples/shop.yaml, Resource orders-db).
# Only Terraform's built-in terraform_data resource is used, so it plans and applies offline.
# Replacing read_replica or backup_schedule touches nothing else; replacing primary also replaces
# connection_pooler, which the replace-terraform-resource runbook stops before the apply.

terraform {
  required_version = ">= 1.4"
}

resource "terraform_data" "primary" {
  input = {
    engine         = "postgres"
    engine_version = "15"
    instance_class = "db.m6g.large"
    storage_gb     = 200
  }
}

resource "terraform_data" "read_replica" {
  input = {
    engine         = "postgres"
    engine_version = "15"
    instance_class = "db.m6g.large"
    replicates     = "orders-db-primary"
  }
}

resource "terraform_data" "connection_pooler" {
  input = {
    kind     = "pgbouncer"
    pool     = "transaction"
    max_conn = 400
  }
  # a new primary needs a new pooler in front of it
  triggers_replace = [terraform_data.primary.id]
}

resource "terraform_data" "backup_schedule" {
  input = {
    cron           = "0 3 * * *"
    retention_days = 14
  }
}

output "primary_id" {
  value = terraform_data.primary.id
}

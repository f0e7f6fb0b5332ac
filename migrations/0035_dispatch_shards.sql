ALTER TABLE `tenants` ADD `dispatch_shards` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `previous_dispatch_shards` integer;
CREATE TABLE `keyword_queries` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`rule_id` text,
	`channel` text NOT NULL,
	`app_id` text,
	`endpoint_id` text NOT NULL,
	`status` text NOT NULL,
	`latency_ms` integer NOT NULL,
	`reason` text,
	`asked_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `keyword_queries_rule_idx` ON `keyword_queries` (`tenant_id`,`rule_id`,`id`);
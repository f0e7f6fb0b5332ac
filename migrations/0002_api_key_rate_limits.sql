ALTER TABLE `api_keys` ADD `rate_limit_per_second` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `rate_limit_burst` integer;
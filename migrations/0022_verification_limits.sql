ALTER TABLE `tenants` ADD `verification_limits` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `fraud_guard` text;
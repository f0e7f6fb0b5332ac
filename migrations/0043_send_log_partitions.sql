ALTER TABLE `tenants` ADD `send_log` text DEFAULT 'DB' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `previous_send_logs` text;
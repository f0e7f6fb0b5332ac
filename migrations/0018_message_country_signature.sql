ALTER TABLE `messages` ADD `country` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `sign_name` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `currency` text;--> statement-breakpoint
-- Messages logged before the column were priced in their tenant's currency as far as anyone knows:
-- the one it has now. From here on a change of currency leaves them as they are.
UPDATE `messages` SET `currency` = (SELECT `currency` FROM `tenants` WHERE `tenants`.`id` = `messages`.`tenant_id`) WHERE `currency` IS NULL;

// Package schedule runs recurring campaigns: a schedule names a cron spec and a campaign and
// contact file, and at each tick a new campaign is uploaded from those files.
//
// Schedules are kept in Redis (Store). Every `dialer scheduler` process runs a Scheduler,
// but only the one holding a Redis lock (Leader) enqueues ticks: one asynq task
// TypeCreate per tick, with the TaskID "schedule:<id>:<tick unix>", so a tick is enqueued
// once even when two leaders overlap at a handover. Every process also runs an asynq server
// (NewServer) whose Handler uploads the campaign under an ID derived from the schedule and
// the tick (CampaignID), and skips a tick whose campaign exists: a tick makes one campaign.
package schedule

package main

import (
	"context"
	"errors"
)

func runServe(ctx context.Context, e *env, args []string) error  { return errors.New("in progress") }
func runList(ctx context.Context, e *env, args []string) error   { return errors.New("in progress") }
func runPause(ctx context.Context, e *env, args []string) error  { return errors.New("in progress") }
func runResume(ctx context.Context, e *env, args []string) error { return errors.New("in progress") }
func runCancel(ctx context.Context, e *env, args []string) error { return errors.New("in progress") }

package exporter

import "os"

func hostname() string {
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "events-exporter"
}

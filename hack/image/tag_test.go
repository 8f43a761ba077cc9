package main

import (
	"os"
	"regexp"
	"testing"

	"github.com/inzone-io/inzone/mutate"
)

// TestDefaultCaptureImageIsTheTagMakeImageWrites keeps the capture image
// the webhook and the chart name by default (the chart's config is kept
// equal to the engine's defaults elsewhere) on the tag `make image` gives
// the capture archive: the chart's appVersion (IMAGE_TAG).
func TestDefaultCaptureImageIsTheTagMakeImageWrites(t *testing.T) {
	chart, err := os.ReadFile("../../charts/inzone/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^appVersion: "(.*)"$`).FindSubmatch(chart)
	if m == nil {
		t.Fatal(`Chart.yaml: no appVersion: "..." line, which the Makefile's IMAGE_TAG reads`)
	}
	if want := "ghcr.io/inzone-io/inzone-capture:" + string(m[1]); mutate.DefaultCaptureImage != want {
		t.Errorf("mutate.DefaultCaptureImage = %q, want %q", mutate.DefaultCaptureImage, want)
	}
}

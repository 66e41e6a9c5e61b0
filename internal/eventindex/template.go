// Package eventindex is the events index as every check and dashboard panel
// sees it: the index template that keeps the field names and types the
// workshop dashboard relies on, and the typed queries and aggregations run
// against it.
package eventindex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
)

// ErrTemplateForbidden says the user may not put index templates (403):
// a workshop user with write and read on the events indices only.
var ErrTemplateForbidden = errors.New("may not put index templates")

// TemplatePermission is what a user needs to put the template.
const TemplatePermission = "cluster permission indices:admin/index_template/put"

// WithoutTemplate says what the index is without our template, for a run
// that goes on without it.
const WithoutTemplate = "the index has OpenSearch's dynamic mappings, not ours: dates and counts as dynamic mapping guesses them, " +
	"labels and annotations as objects rather than flat_object (with deDot off, labels app and app.kubernetes.io/name on one object " +
	"get its documents rejected), one replica (health yellow on one node); the checks read the index as it is"

const (
	// Index is where the exporter writes, as in the workshop.
	Index = "eks-kubernetes-events"
	// Pattern is the dashboard's index pattern and the template's.
	Pattern = Index + "*"
	// TimeField is the dashboard's time field.
	TimeField = "lastTimestamp"
	// TemplateName is the name of the index template.
	TemplateName = "eks-kubernetes-events"
)

// dateFields are dates whatever dynamic mapping would guess.
var dateFields = []string{"firstTimestamp", "lastTimestamp", "eventTime", "metadata.creationTimestamp", "series.lastObservedTime"}

// freeFormFields hold arbitrary keys (labels and annotations). Mapped
// dynamically, the keys app and app.kubernetes.io/name on one object make
// "app" both a string and an object, and OpenSearch rejects the document;
// flat_object keeps every key searchable (involvedObject.labels.app) as one
// field whatever the keys are, with deDot on or off.
var freeFormFields = []string{"involvedObject.labels", "involvedObject.annotations", "metadata.labels", "metadata.annotations"}

const dateFormat = "strict_date_optional_time||epoch_millis"

// freshness is the template's one optional setting. With merge-on-flush
// (on by default in OpenSearch 2) a refresh merges the small segments
// before it and waits for that merge: at 100 events/s, one refresh in
// about ten took 0.26-0.36 s instead of 0.05, holding every document of
// that second out of the dashboard. Off, the same merge runs in the
// background. An OpenSearch that does not know the setting gets the
// template without it.
var freshness = map[string]any{"merge_on_flush": map[string]any{"enabled": false}}

// Template is the body of the composable index template for the given
// index patterns (default: Pattern).
func Template(patterns ...string) map[string]any {
	return template(patterns, true)
}

func template(patterns []string, fresh bool) map[string]any {
	settings := map[string]any{
		"number_of_shards": 1,
		// One node: replicas could never be assigned.
		"number_of_replicas": 0,
	}
	if fresh {
		maps.Copy(settings, freshness)
	}
	if len(patterns) == 0 {
		patterns = []string{Pattern}
	}
	props := map[string]any{}
	for _, f := range dateFields {
		setPath(props, f, map[string]any{"type": "date", "format": dateFormat})
	}
	for _, f := range freeFormFields {
		setPath(props, f, map[string]any{"type": "flat_object"})
	}
	setPath(props, "count", map[string]any{"type": "long"})
	return map[string]any{
		"index_patterns": patterns,
		"priority":       100,
		"template": map[string]any{
			"settings": settings,
			"mappings": map[string]any{
				// Strings get a text field and a .keyword sub-field, exactly
				// as dynamic mapping gives the upstream exporter's index, so
				// the dashboard's type.keyword etc. exist.
				"dynamic_templates": []any{map[string]any{
					"strings_as_text_and_keyword": map[string]any{
						"match_mapping_type": "string",
						"mapping": map[string]any{
							"type": "text",
							"fields": map[string]any{
								"keyword": map[string]any{"type": "keyword", "ignore_above": 256},
							},
						},
					},
				}},
				"properties": props,
			},
		},
	}
}

// setPath puts a mapping at a dotted path as nested object properties.
func setPath(props map[string]any, path string, mapping map[string]any) {
	for {
		head, rest, nested := strings.Cut(path, ".")
		if !nested {
			props[head] = mapping
			return
		}
		obj, ok := props[head].(map[string]any)
		if !ok {
			obj = map[string]any{"properties": map[string]any{}}
			props[head] = obj
		}
		props = obj["properties"].(map[string]any)
		path = rest
	}
}

// ApplyTemplate installs (or replaces) the index template for the index
// patterns an exporter writes (comma-separated patterns are split; none
// means Pattern).
func ApplyTemplate(ctx context.Context, c *opensearchapi.Client, patterns ...string) error {
	var split []string
	for _, p := range patterns {
		for part := range strings.SplitSeq(p, ",") {
			if part = strings.TrimSpace(part); part != "" {
				split = append(split, part)
			}
		}
	}
	put := func(fresh bool) error {
		body, err := json.Marshal(template(split, fresh))
		if err != nil {
			return err
		}
		_, err = c.IndexTemplate.Create(ctx, opensearchapi.IndexTemplateCreateReq{IndexTemplate: TemplateName, Body: bytes.NewReader(body)})
		return err
	}
	err := put(true)
	var apiErr *opensearch.StructError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest && strings.Contains(apiErr.Err.Reason, "merge_on_flush") {
		err = put(false) // an OpenSearch before merge-on-flush, or one that forbids the setting
	}
	if err != nil {
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden {
			return fmt.Errorf("failed to apply index template %s: %w (403: grant %s)", TemplateName, ErrTemplateForbidden, TemplatePermission)
		}
		return fmt.Errorf("failed to apply index template %s: %w", TemplateName, err)
	}
	return nil
}

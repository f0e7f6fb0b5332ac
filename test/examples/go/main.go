// Relaybox from Go's standard library: send a message, read it back, verify a webhook.
//
//	RELAYBOX_URL=http://127.0.0.1:8787 RELAYBOX_API_KEY=rbx_live_... go run .
//
// It subscribes a webhook endpoint on this machine (locally the server must run with
// WEBHOOK_ALLOW_LOCAL_HTTP=true; deployed, use a public https URL), sends a message, reads it back
// and waits for its signed `message.sent` event. The key must be a live key: test keys cannot
// create webhook endpoints. CI runs this program (test/examples/run.mjs).
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

var (
	baseURL = strings.TrimRight(env("RELAYBOX_URL", "http://127.0.0.1:8787"), "/")
	apiKey  = os.Getenv("RELAYBOX_API_KEY")
	to      = env("RELAYBOX_TO", "+8613800138000")
)

func env(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

// Problem is an error answer (RFC 9457 problem+json).
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Pointer string `json:"pointer"`
		Detail  string `json:"detail"`
	} `json:"errors"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// call makes one API call into out (nil for none), retrying 429 and 503 after Retry-After.
func call(method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		payload, _ = json.Marshal(body)
	}
	key := ""
	if method == http.MethodPost {
		// The same key on every retry: a create is never done twice.
		raw := make([]byte, 16)
		_, _ = rand.Read(raw)
		key = hex.EncodeToString(raw)
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(method, baseURL+path, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+apiKey)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if (res.StatusCode == 429 || res.StatusCode == 503) && attempt < 3 {
			wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			time.Sleep(time.Duration(min(max(wait, 1), 30)) * time.Second)
			continue
		}
		if res.StatusCode >= 300 {
			problem := &Problem{}
			if json.Unmarshal(data, problem) != nil || problem.Status == 0 {
				return fmt.Errorf("%s %s: HTTP %d", method, path, res.StatusCode)
			}
			return problem
		}
		if out == nil || len(data) == 0 {
			return nil
		}
		return json.Unmarshal(data, out)
	}
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// VerifySignature reports whether header (`t=<unix>,v1=<hex>`) signs the raw body with secret,
// at a time within tolerance of now.
func VerifySignature(header string, body []byte, secret string, tolerance time.Duration, now time.Time) bool {
	var timestamp string
	var signatures []string
	for _, part := range strings.Split(header, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "t":
			timestamp = value
		case "v1":
			signatures = append(signatures, value)
		}
	}
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || len(signatures) == 0 {
		return false
	}
	if age := now.Sub(time.Unix(seconds, 0)); age > tolerance || age < -tolerance {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "."))
	mac.Write(body)
	expected := hex.EncodeToString(mac.Sum(nil))
	for _, signature := range signatures {
		if hmac.Equal([]byte(signature), []byte(expected)) {
			return true
		}
	}
	return false
}

type delivery struct {
	header string
	body   []byte
}

func main() {
	if apiKey == "" {
		log.Fatal("set RELAYBOX_API_KEY (a live key: rbx_live_...)")
	}
	deliveries := make(chan delivery, 16)
	listener, err := net.Listen("tcp", env("RELAYBOX_WEBHOOK_HOST", "127.0.0.1")+":0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		deliveries <- delivery{r.Header.Get("Relaybox-Signature"), body}
		w.WriteHeader(http.StatusOK)
	}))

	var endpoint struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	hook := map[string]any{"url": "http://" + listener.Addr().String() + "/hook", "events": []string{"message.sent"}}
	if err := call("POST", "/v1/webhooks", hook, &endpoint); err != nil {
		log.Fatal(err)
	}
	fmt.Println("webhook endpoint", endpoint.ID)

	var accepted struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := call("POST", "/v1/messages", map[string]any{"to": to, "body": "Your code is 123456"}, &accepted); err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent", accepted.ID, accepted.Status)

	var message struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		To     string `json:"to"`
	}
	if err := call("GET", "/v1/messages/"+accepted.ID, nil, &message); err != nil {
		log.Fatal(err)
	}
	if message.ID != accepted.ID {
		log.Fatalf("read back %q, sent %q", message.ID, accepted.ID)
	}
	fmt.Println("read back", message.ID, message.Status, message.To)

	err = call("GET", "/v1/messages/msg_00000000000000000000000000", nil, nil)
	if problem, ok := err.(*Problem); !ok || problem.Status != 404 {
		log.Fatalf("expected a 404 problem, got %v", err)
	}
	fmt.Println("a missing message is", err.(*Problem).Status, err.(*Problem).Type)

	timeout := time.After(60 * time.Second)
	for {
		select {
		case d := <-deliveries:
			var event struct {
				ID   string `json:"id"`
				Type string `json:"type"`
				Data struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			if json.Unmarshal(d.body, &event) != nil || event.Data.ID != accepted.ID {
				continue
			}
			now := time.Now()
			if !VerifySignature(d.header, d.body, endpoint.Secret, 5*time.Minute, now) {
				log.Fatal("the signature does not verify")
			}
			if VerifySignature(d.header, append(d.body, ' '), endpoint.Secret, 5*time.Minute, now) {
				log.Fatal("a changed body verifies")
			}
			if VerifySignature(d.header, d.body, "whsec_wrong", 5*time.Minute, now) {
				log.Fatal("another secret verifies")
			}
			fmt.Println("verified webhook", event.ID, event.Type)
			if err := call("DELETE", "/v1/webhooks/"+endpoint.ID, nil, nil); err != nil {
				log.Fatal(err)
			}
			return
		case <-timeout:
			log.Fatal("no webhook for the message within 60 s")
		}
	}
}

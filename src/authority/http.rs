//! The one outgoing HTTP client of the authority side: fetching an identity provider's JWKS and
//! posting checkpoints to witnesses. Plain `http://` on one connection per request, without a
//! client crate's pool: both are rare, and a bounded caller-side timeout wraps each.

use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// Connect to the host of an `http://` URL and open an HTTP/1.1 connection on it. Returns the
/// sender, the parsed URL and the `Host` value to send; `refusal` is the error for a URL of
/// another scheme.
pub(crate) async fn connect<B>(
    url: &str,
    refusal: &str,
) -> Result<(SendRequest<B>, hyper::Uri, String), String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let uri: hyper::Uri = url.parse().map_err(|_| format!("not a URL: {url}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(refusal.to_string());
    }
    let host = uri.host().ok_or("the URL has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .unwrap_or_default();
    Ok((sender, uri, authority))
}

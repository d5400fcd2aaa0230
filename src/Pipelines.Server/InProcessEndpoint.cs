using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Pipelines.Server;

/// <summary>
/// The built-in MLflow endpoint inside this process without a listening socket: requests sent through
/// <see cref="Handler"/> run the same endpoint code as over HTTP (same validation, errors and answers), straight
/// against the tracking store on the process's PostgreSQL. This is how a worker reaches the built-in store
/// whatever the process hosts; nothing opens a port. The application starts on the first request.
/// </summary>
public sealed class InProcessEndpoint : IAsyncDisposable
{
    /// <summary>The base address clients are given; requests to it never leave the process.</summary>
    public static readonly Uri Address = new("http://built-in.pipelines/");

    private readonly PipelinesServerOptions _options;
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private readonly InMemoryServer _server = new();
    private volatile WebApplication? _app;

    public InProcessEndpoint(PipelinesServerOptions options)
    {
        _options = options;
        Handler = new InMemoryHandler(this);
    }

    /// <summary>Give this to an <see cref="HttpClient"/> (it is not disposed with it).</summary>
    public HttpMessageHandler Handler { get; }

    private async Task<InMemoryServer> StartedAsync(CancellationToken ct)
    {
        if (_app is not null) return _server;
        await _startLock.WaitAsync(ct);
        try
        {
            if (_app is null)
            {
                var app = PipelinesServer.Build(_options with { Urls = [], RequestLogging = false }, services => services.AddSingleton<IServer>(_server));
                await app.StartAsync(ct);
                _app = app;
            }
            return _server;
        }
        finally
        {
            _startLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

    /// <summary>An <see cref="IServer"/> that receives requests from <see cref="InMemoryHandler"/> instead of a socket.</summary>
    private sealed class InMemoryServer : IServer
    {
        private Func<IFeatureCollection, Task>? _process;

        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull
        {
            _process = async features =>
            {
                var context = application.CreateContext(features);
                try
                {
                    await application.ProcessRequestAsync(context);
                }
                catch (Exception e)
                {
                    application.DisposeContext(context, e);
                    throw;
                }
                application.DisposeContext(context, null);
            };
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            _process = null;
            return Task.CompletedTask;
        }

        public Task ProcessAsync(IFeatureCollection features) =>
            (_process ?? throw new ObjectDisposedException(nameof(InProcessEndpoint), "the in-process tracking endpoint has stopped"))(features);

        public void Dispose() { }
    }

    /// <summary>Turns an <see cref="HttpRequestMessage"/> into the features ASP.NET Core reads, and the response back.</summary>
    private sealed class InMemoryHandler(InProcessEndpoint endpoint) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var server = await endpoint.StartedAsync(cancellationToken);
            var uri = request.RequestUri ?? throw new ArgumentException("the request has no URI", nameof(request));
            var requestFeature = new HttpRequestFeature
            {
                Protocol = "HTTP/1.1",
                Method = request.Method.Method,
                Scheme = uri.Scheme,
                PathBase = "",
                Path = PathString.FromUriComponent(uri).Value ?? "/",
                QueryString = uri.Query,
                RawTarget = uri.PathAndQuery,
                Body = request.Content is null ? Stream.Null : await request.Content.ReadAsStreamAsync(cancellationToken),
            };
            requestFeature.Headers.Host = uri.Authority;
            foreach (var (name, values) in request.Headers) requestFeature.Headers.Append(name, values.ToArray());
            if (request.Content is not null)
                foreach (var (name, values) in request.Content.Headers) requestFeature.Headers.Append(name, values.ToArray());

            var body = new MemoryStream();
            var responseFeature = new HttpResponseFeature();
            var features = new FeatureCollection();
            features.Set<IHttpRequestFeature>(requestFeature);
            features.Set<IHttpResponseFeature>(responseFeature);
            features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(body));
            features.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature { RequestAborted = cancellationToken });
            await server.ProcessAsync(features);

            body.Position = 0;
            var response = new HttpResponseMessage((HttpStatusCode)responseFeature.StatusCode) { RequestMessage = request, Content = new StreamContent(body) };
            foreach (var (name, values) in responseFeature.Headers)
                if (!response.Headers.TryAddWithoutValidation(name, values.ToString()))
                    response.Content.Headers.TryAddWithoutValidation(name, values.ToString());
            return response;
        }
    }
}

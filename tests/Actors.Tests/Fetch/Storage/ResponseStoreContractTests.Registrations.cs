using System.Security.Cryptography;
using static BgFetchCluster.Actors.Tests.Fetch.Storage.StoreTestData;

namespace BgFetchCluster.Actors.Tests.Fetch.Storage;

/// <summary>Whole registrations (stored bytes, release) and a body far larger than any buffer.</summary>
public abstract partial class ResponseStoreContractTests
{
    [Fact]
    public async Task GetStoredBytesAsync_SeveralRecords_SumsTheirLengths()
    {
        var key = KeyOf("r");
        var other = KeyOf("other");
        Assert.Equal(0, await Store.GetStoredBytesAsync(key));
        long[] lengths = [0, 1, 65_536, 100_001];
        for (var record = 0; record < lengths.Length; record++)
        {
            await using var writer = await Store.OpenWriterAsync(key, record, 0);
            await WriteGeneratedAsync(writer, 0, lengths[record], 8_192);
            await writer.CompleteAsync();
        }

        await using (var writer = await Store.OpenWriterAsync(other, 0, 0))
        {
            await WriteGeneratedAsync(writer, 0, 5_000, 5_000);
            await writer.FlushToDiskAsync();
            Assert.Equal(5_000, await Store.GetStoredBytesAsync(other));
        }

        Assert.Equal(lengths.Sum(), await Store.GetStoredBytesAsync(key));
        Assert.Equal(5_000, await Store.GetStoredBytesAsync(other));
    }

    [Fact]
    public async Task DeleteRegistrationAsync_StoredBodies_RemovesThemAndIsIdempotent()
    {
        var doomed = KeyOf("doomed");
        var survivor = KeyOf("survivor");
        for (var record = 0; record < 3; record++)
        {
            await using var writer = await Store.OpenWriterAsync(doomed, record, 0);
            await WriteGeneratedAsync(writer, 0, 1_000 + (record * MiB), 65_536);
            await writer.CompleteAsync();
        }

        await using (var writer = await Store.OpenWriterAsync(survivor, 0, 0))
        {
            await WriteGeneratedAsync(writer, 0, 1_000, 1_000);
            await writer.CompleteAsync();
        }

        await Store.DeleteRegistrationAsync(doomed);
        await Store.DeleteRegistrationAsync(doomed);
        await Store.DeleteRegistrationAsync(KeyOf("never existed"));

        Assert.Equal(0, await Store.GetStoredBytesAsync(doomed));
        for (var record = 0; record < 3; record++)
        {
            Assert.Null(await Store.OpenReadAsync(doomed, record));
        }

        Assert.Equal(GeneratedStream.Bytes(0, 1_000), await ReadBodyAsync(Store, survivor, 0));

        // A released id can be used again.
        await using (var again = await Store.OpenWriterAsync(doomed, 0, 0))
        {
            await WriteGeneratedAsync(again, 0, 10, 10, seed: 3);
            await again.CompleteAsync();
        }

        Assert.Equal(GeneratedStream.Bytes(0, 10, seed: 3), await ReadBodyAsync(Store, doomed, 0));
    }

    [Fact]
    public async Task WriteAsync_64MiBBody_NeverHoldsMoreThanTheStoreBuffersAndReadsBackByteExact()
    {
        const long length = 64L * MiB;
        string digest;
        await using (var writer = await Store.OpenWriterAsync(Key, 0, 0))
        {
            var source = new GeneratedStream(length);
            var buffer = new byte[256 * 1024];
            int read;
            while ((read = await source.ReadAsync(buffer)) > 0)
            {
                await writer.WriteAsync(buffer.AsMemory(0, read));
                if (writer.Length % (8L * MiB) == 0)
                {
                    // Streamed, not collected: what the writer was handed is in storage, bar one buffer's worth.
                    var unstored = writer.Length - await Store.GetStoredBytesAsync(Key);
                    Assert.True(
                        unstored <= MaxUnstoredBytes,
                        $"Expected at most {MaxUnstoredBytes:N0} bytes held by the writer at {writer.Length:N0}, but {unstored:N0} were not stored.");
                }
            }

            digest = await writer.CompleteAsync();
        }

        Assert.Equal(ExpectedSha256(length), digest);
        await using var body = await Store.OpenReadAsync(Key, 0);
        Assert.Equal(length, body!.Length);
        Assert.Equal(digest, Convert.ToHexStringLower(await SHA256.HashDataAsync(body.Content)));
        var from = (40L * MiB) - 100;
        Assert.Equal(GeneratedStream.Bytes(from, 300), await ReadToEndAsync(body.OpenRange(from, from + 299)));
    }
}

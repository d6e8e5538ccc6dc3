package dev.gestalt.files;

import dev.gestalt.rpc.proto.FilesGrpc;
import dev.gestalt.rpc.proto.FolderAnswer;
import dev.gestalt.rpc.proto.FolderQuery;
import io.grpc.stub.StreamObserver;

/** The file space's node-to-node service: whether a user could enter a folder here ({@link Folders}). */
public final class FilesService extends FilesGrpc.FilesImplBase {

    @Override
    public void canEnter(FolderQuery q, StreamObserver<FolderAnswer> out) {
        int[] groups = q.getGroupsList().stream().mapToInt(Integer::intValue).toArray();
        out.onNext(FolderAnswer.newBuilder().setCanEnter(Folders.canEnter(q.getPath(), q.getUid(), q.getGid(), groups)).build());
        out.onCompleted();
    }
}
